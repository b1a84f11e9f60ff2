#pragma once
// The viewer's memory of what it computed: results by key, bounded in bytes, the least recently
// used evicted first. Safe to use from many threads.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

namespace whitebox::serve {

// One computed thing: a map or maps (tensor, on the CPU), facts about it (meta) and encoded
// bytes (a PNG), each part optional.
struct Result {
  at::Tensor tensor;
  nlohmann::json meta;
  std::string bytes;

  uint64_t size() const {
    return (tensor.defined() ? tensor.nbytes() : 0) + bytes.size() + meta.dump().size() + 256;
  }
};

class Cache {
 public:
  explicit Cache(uint64_t budget) : budget_(budget) {}

  std::shared_ptr<const Result> find(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, found->second);  // now the most recent
    return found->second->result;
  }

  // Keeps `result` under `key` (replacing an older one), then evicts until the budget holds. A
  // result larger than the whole budget is not kept: its caller still has it.
  void put(const std::string& key, std::shared_ptr<const Result> result) {
    const uint64_t size = result->size();
    std::lock_guard lock(mutex_);
    if (const auto found = index_.find(key); found != index_.end()) erase(found->second);
    if (size > budget_) return;
    order_.push_front({key, std::move(result), size});
    index_[key] = order_.begin();
    used_ += size;
    while (used_ > budget_) erase(std::prev(order_.end()));
  }

  uint64_t used() const {
    std::lock_guard lock(mutex_);
    return used_;
  }
  uint64_t budget() const { return budget_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Result> result;
    uint64_t size;
  };
  void erase(std::list<Entry>::iterator entry) {
    used_ -= entry->size;
    index_.erase(entry->key);
    order_.erase(entry);
  }

  const uint64_t budget_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  uint64_t used_ = 0;
};

}  // namespace whitebox::serve
