#include "jobs.hpp"

#include "whitebox/error.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::serve {

namespace {

constexpr size_t kEndedKept = 256;  // ended jobs whose state a page may still ask for

const char* state_name(Job::State state) {
  switch (state) {
    case Job::State::Queued: return "queued";
    case Job::State::Running: return "running";
    case Job::State::Done: return "done";
    case Job::State::Failed: return "failed";
    case Job::State::Cancelled: return "cancelled";
  }
  return "unknown";
}

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace

void JobQueue::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (auto& job : queue_) finish(job, Job::State::Cancelled);
  queue_.clear();
  if (running_) request_interrupt();
  changed_.notify_all();
}

std::shared_ptr<Job> JobQueue::submit(const std::string& key, const std::string& title,
                                      std::function<Result()> work) {
  std::lock_guard lock(mutex_);
  if (running_ && running_->key == key) return running_;
  for (const auto& job : queue_) {
    if (job->key == key) return job;
  }
  if (queue_.size() >= kMostQueued) return nullptr;
  auto job = std::make_shared<Job>();
  job->id = std::to_string(next_id_++);
  job->key = key;
  job->title = title;
  job->work = std::move(work);
  if (stopping_) {
    job->state = Job::State::Cancelled;
    return job;
  }
  jobs_[job->id] = job;
  queue_.push_back(job);
  changed_.notify_all();
  return job;
}

std::shared_ptr<const Result> JobQueue::wait(const std::shared_ptr<Job>& job) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return job->state != Job::State::Queued && job->state != Job::State::Running;
  });
  if (job->state == Job::State::Failed) std::rethrow_exception(job->error);
  if (job->state == Job::State::Cancelled) throw Interrupted(job->title + " was cancelled");
  return job->result;
}

nlohmann::json JobQueue::describe(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return nullptr;
  const Job& job = *found->second;
  int64_t done = job.done, planned = job.planned;
  if (job.state == Job::State::Running) {
    const ProgressCount now = progress();
    done = now.done;
    planned = now.planned;
  }
  nlohmann::json json{{"id", job.id},       {"title", job.title}, {"state", state_name(job.state)},
                      {"done", done},       {"planned", planned}};
  if (job.state == Job::State::Failed) json["error"] = message_of(job.error);
  return json;
}

bool JobQueue::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return false;
  const auto job = found->second;
  if (job->state == Job::State::Queued) {
    std::erase(queue_, job);
    finish(job, Job::State::Cancelled);
    return true;
  }
  if (job->state == Job::State::Running) {
    request_interrupt();  // the engine stops at its next node; work() records the cancellation
    return true;
  }
  return false;
}

// Under the lock.
void JobQueue::finish(const std::shared_ptr<Job>& job, Job::State state) {
  job->state = state;
  job->work = nullptr;  // what it captured (pictures, tensors) goes now
  ended_.push_back(job->id);
  while (ended_.size() > kEndedKept) {
    jobs_.erase(ended_.front());
    ended_.pop_front();
  }
  changed_.notify_all();
}

void JobQueue::work() {
  adopt_threads();
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    running_ = queue_.front();
    queue_.pop_front();
    running_->state = Job::State::Running;
    const auto job = running_;
    lock.unlock();

    clear_interrupt();
    reset_progress();
    std::shared_ptr<const Result> result;
    std::exception_ptr error;
    bool interrupted = false;
    try {
      result = std::make_shared<const Result>(job->work());
      cache_.put(job->key, result);
    } catch (const Interrupted&) {
      interrupted = true;
    } catch (...) {
      error = std::current_exception();
    }
    const ProgressCount counted = progress();
    clear_interrupt();

    lock.lock();
    running_ = nullptr;
    job->done = counted.done;
    job->planned = counted.planned;
    job->result = std::move(result);
    job->error = error;
    finish(job, interrupted ? Job::State::Cancelled
                : error     ? Job::State::Failed
                            : Job::State::Done);
  }
}

}  // namespace whitebox::serve
