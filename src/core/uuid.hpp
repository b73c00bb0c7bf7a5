#pragma once

#include <string>

namespace teamreg {

/// A random (version 4) UUID from the OS CSPRNG, lower-case hex with dashes.
std::string random_uuid();

/// `bytes` random bytes from the OS CSPRNG, hex-encoded.
std::string random_hex(std::size_t bytes);

}  // namespace teamreg
