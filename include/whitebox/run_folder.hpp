#pragma once
// The output folder of a resumable data-set run, which the command line's explain and evaluate
// and the Python package's evaluate() share: locked for the run's settings while it lasts, with
// the folders of records (one file per finished item, written with write_file) made ready.
#include <filesystem>
#include <string>

namespace whitebox {

// The constructor creates `folder` if needed and locks it for runs of `settings` (any text that
// tells runs apart: a fingerprint of what their results depend on). Runs of the same settings
// share it (each item's files are written whole, by one or the other); a run of other settings
// is refused with FileError while one holds it, in this process or another. The lock is the file
// `.whitebox-lock` in the folder, held until release() or the destructor. A folder the run
// created and wrote no result into is then removed, as when an argument that only the first
// image can check fails the run.
class RunFolder {
 public:
  // `argument` names the folder's argument in the refusal ("--out": "choose another --out").
  RunFolder(std::filesystem::path folder, const std::string& settings,
            const std::string& argument = "--out");
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::filesystem::path& path() const { return folder_; }

  // Prepares `records`, a folder in this one where each item leaves the record that makes it
  // done: created, and cleared of the temporary files of a run that was killed while writing
  // (write_file never leaves a truncated record). Throws FileError when it cannot be made.
  void prepare_records(const std::filesystem::path& records) const;

  // Unlocks the folder (and removes it if the run created it and wrote nothing); the destructor
  // does it too. Calling it again does nothing.
  void release();

 private:
  std::filesystem::path folder_;
  bool created_ = false;
  int lock_ = -1;
};

}  // namespace whitebox
