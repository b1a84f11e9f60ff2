#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "whitebox/files.hpp"
#include "whitebox/runtime.hpp"

namespace whitebox::cli {
namespace {

// How often the terminal line is redrawn while an item runs, and how often a log gets a line
// within an item that runs longer.
constexpr auto kRedraw = std::chrono::milliseconds(500);
constexpr auto kLogEvery = std::chrono::seconds(60);

std::string minutes(double seconds) {
  const auto whole = static_cast<long>(seconds + 0.5);
  return std::to_string(whole / 60) + ":" + (whole % 60 < 10 ? "0" : "") +
         std::to_string(whole % 60);
}

}  // namespace

Progress::Progress(size_t total, std::string what, const std::vector<std::string>& methods)
    : total_(total),
      what_(std::move(what)),
      terminal_(!quiet && total > 1 && isatty(STDERR_FILENO)),
      log_(!quiet && total > 1 && !terminal_) {
  for (const std::string& method : methods) methods_ += (methods_.empty() ? "" : "+") + method;
  if (terminal_ || log_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  clear();
}

void Progress::tick() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, kRedraw, [this] { return stopping_; })) {
    if (!working_) continue;
    if (terminal_) draw();
    if (log_ && Clock::now() - logged_ >= kLogEvery) {
      std::cerr << what_ << " " << status() << "  " << printable(item_) << inputs() << std::endl;
      logged_ = Clock::now();
    }
  }
}

void Progress::advance() {
  if (item_.empty()) return;
  ++done_;
  if (working_) {
    ++timed_;
    finished_ = Clock::now();
  }
  working_ = false;
  if (log_) {
    std::cerr << what_ << " " << status() << "  " << printable(item_) << std::endl;
    logged_ = Clock::now();
  }
}

void Progress::start(const std::string& item) {
  std::lock_guard<std::mutex> lock(mutex_);
  advance();
  item_ = item;
  working_ = true;
  started_ = logged_ = Clock::now();
  if (timed_ == 0) first_ = started_;
  reset_progress();
  draw();
}

void Progress::skip(const std::string& item) {
  std::lock_guard<std::mutex> lock(mutex_);
  advance();
  item_ = item;
  draw();
}

void Progress::finished_elsewhere(size_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (timed_ == 0 && !working_) first_ = Clock::now();
  done_ += count;
  timed_ += count;
  finished_ = Clock::now();
  if (log_) std::cerr << what_ << " " << status() << "  (other ranks)" << std::endl;
  draw();
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  advance();
  item_.clear();
  clear();
}

void Progress::print(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  clear();
  // Flushed before the bar comes back on the other stream; labels and file names may hold
  // escape sequences: shown, never run by the terminal.
  std::string shown;
  for (size_t start = 0; start <= line.size();) {
    const size_t end = std::min(line.find('\n', start), line.size());
    shown += printable(std::string_view(line).substr(start, end - start));
    if (end < line.size()) shown += '\n';
    start = end + 1;
  }
  std::cout << shown << std::endl;
  draw();
}

std::string Progress::status() const {
  std::ostringstream text;
  text << done_ << "/" << total_;
  if (!methods_.empty()) text << "  " << methods_;
  // The wall time from the first item that needed work to the last finish, over the items
  // finished (resumed ones cost nothing): per item in one process, the job's pace over all MPI
  // ranks. The time left counts down within the current item.
  if (timed_ > 0) {
    const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
    const double each = seconds(finished_ - first_) / static_cast<double>(timed_);
    text << "  " << fixed(each, 1) << " s each";
    if (done_ < total_) {
      const double running = working_ ? seconds(Clock::now() - started_) : 0.0;
      text << "  " << minutes(std::max(0.0, each * static_cast<double>(total_ - done_) - running))
           << " left";
    }
  }
  return text.str();
}

std::string Progress::inputs() const {
  const ProgressCount count = progress();
  if (count.planned <= 0) return "";
  return "  inputs " + std::to_string(count.done) + "/" + std::to_string(count.planned);
}

void Progress::draw() const {
  if (!terminal_ || item_.empty()) return;
  constexpr size_t width = 30;
  const size_t filled = total_ ? width * std::min(done_, total_) / total_ : width;
  std::cerr << "\r\033[K" << what_ << " [" << std::string(filled, '#')
            << std::string(width - filled, '.') << "] " << status() << "  " << printable(item_)
            << (working_ ? inputs() : "") << std::flush;
}

void Progress::clear() const {
  if (terminal_) std::cerr << "\r\033[K" << std::flush;
}

}  // namespace whitebox::cli
