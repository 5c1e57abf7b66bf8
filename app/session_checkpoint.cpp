// After a failure or an interruption: the checkpoint kept (and how to resume), or removed.
#include <filesystem>

#include "app/session_state.hpp"

namespace rasterflow::app {
namespace {

// The command that resumes this run: the command line as given, with --resume.
std::string resume_command(const SessionState& s) {
  std::string text;
  bool has_resume = false;
  for (const auto& arg : s.request.command) {
    has_resume = has_resume || arg == "--resume";
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=:,@%+") == std::string::npos;
    std::string quoted = "'";
    for (const char ch : arg) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    text += (text.empty() ? "" : " ") + (plain ? arg : quoted + "'");
  }
  if (!has_resume) text += " --resume";
  if (s.world)
    return "the same launch of " + std::to_string(s.world->size()) + " ranks (mpirun -n " +
           std::to_string(s.world->size()) + " / srun) of: " + text;
  return text;
}

}  // namespace

// Removes this run's checkpoint and partial outputs (another MPI rank kept none to resume with).
void discard_checkpoint(const SessionState& s) {
  if (!s.pipeline) return;
  std::error_code ec;
  const std::filesystem::path checkpoint = s.pipeline->plan().checkpoint_file;
  if (!checkpoint.empty()) {
    std::filesystem::remove(checkpoint, ec);
    std::filesystem::remove(checkpoint.string() + ".tmp", ec);  // a killed run's temporary
  }
  for (SinkNode* sink : s.pipeline->sinks()) {
    if (const ResumableSink* r = sink->resumable()) std::filesystem::remove(r->written().partial, ec);
  }
}

// When the checkpoint was kept, the way to continue ("" when none was).
std::string resume_hint(const SessionState& s) {
  if (!s.pipeline || !s.request.checkpoint) return "";
  const std::filesystem::path file = s.pipeline->plan().checkpoint_file;
  std::error_code ec;
  if (file.empty() || !std::filesystem::exists(file, ec)) return "";
  return "\nresume with: " + resume_command(s);
}

}  // namespace rasterflow::app
