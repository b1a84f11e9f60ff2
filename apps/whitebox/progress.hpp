#pragma once
// Internal to the whitebox CLI: how far a long command has come, on stderr.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace whitebox::cli {

// Progress over more than one item on stderr, unless `quiet`: on a terminal one line redrawn in
// place (a bar, done/total, the time per item, the time left, the current item, and within a long
// item the network inputs it has passed of those it planned); in a log (stderr not a terminal) one
// plain line per finished item, and one a minute within an item that runs longer, so that a batch
// job's log shows how far it got. Under MPI rank 0 counts the items that other ranks finish too.
// Call print() for stdout lines so that they don't mix with the bar. Thread-safe.
class Progress {
 public:
  static inline bool quiet = false;  // --quiet
  // `what` names the command, `methods` (if any) what runs on each item.
  Progress(size_t total, std::string what, const std::vector<std::string>& methods = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void start(const std::string& item);    // about to work on the next item
  void skip(const std::string& item);     // the next item needs no work (resumed): not timed
  void finished_elsewhere(size_t count);  // another rank finished `count` items
  void finish();                          // the last item is done
  void print(const std::string& line);    // a line of stdout output

 private:
  using Clock = std::chrono::steady_clock;
  void advance();
  void draw() const;
  void clear() const;
  void tick();                 // the ticker thread's loop
  std::string status() const;  // "12/40  saliency+gradcam  3.1 s each  1:54 left"
  std::string inputs() const;  // "  inputs 120/2112" within an item that planned its inputs
  size_t total_, done_ = 0, timed_ = 0;
  std::string what_, methods_, item_;
  bool terminal_, log_, working_ = false;
  // The first timed item's start, the last finish, the current item's start.
  Clock::time_point first_, finished_, started_;
  Clock::time_point logged_;           // the last log line
  mutable std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace whitebox::cli
