// Build identity: thinkprobe's version and the git commit it was built from (generated at build time).
#pragma once
namespace tp {
const char* build_version();
const char* build_commit();
}  // namespace tp
