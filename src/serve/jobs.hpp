#pragma once
// The viewer's computations, run one at a time on one thread: the engine already uses every core
// for one, and whitebox's progress count and interrupt are the process's. Requests for
// a result that is being computed share its job; a job can be cancelled while queued or running.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "cache.hpp"

namespace whitebox::serve {

struct Job {
  enum class State { Queued, Running, Done, Failed, Cancelled };
  std::string id, key, title;  // title: "gradcam of owl.jpg", for the page
  std::function<Result()> work;
  // Set by the queue, read under its lock (JobQueue::wait returns them).
  State state = State::Queued;
  std::shared_ptr<const Result> result;  // Done
  std::exception_ptr error;              // Failed
  int64_t done = 0, planned = 0;         // network inputs, once ended
};

class JobQueue {
 public:
  // Finished results go to `cache` under their job's key.
  explicit JobQueue(Cache& cache) : cache_(cache) {}
  ~JobQueue() { stop(); }  // work() must have returned

  // Runs the jobs, one after the other, on the calling thread until stop().
  void work();
  // Cancels what is queued, interrupts what runs; later jobs are cancelled at once.
  void stop();

  // The job computing `key`: the queued or running one, else a new one at the end of the queue;
  // null when kMostQueued jobs wait already.
  static constexpr size_t kMostQueued = 256;
  std::shared_ptr<Job> submit(const std::string& key, const std::string& title,
                              std::function<Result()> work);
  // Blocks until the job has ended; its result, or rethrows its error (Interrupted when it was
  // cancelled).
  std::shared_ptr<const Result> wait(const std::shared_ptr<Job>& job);
  // {"id", "title", "state": "queued" | "running" | "done" | "failed" | "cancelled", "done",
  // "planned", "error"}; null for an unknown or forgotten id.
  nlohmann::json describe(const std::string& id) const;
  // False for an unknown id or a job already ended.
  bool cancel(const std::string& id);

 private:
  void finish(const std::shared_ptr<Job>& job, Job::State state);

  Cache& cache_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // by id: live ones and the latest ended
  std::deque<std::string> ended_;                      // ids, oldest first
  std::shared_ptr<Job> running_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
};

}  // namespace whitebox::serve
