#pragma once

#include <string>

namespace teamreg {

/// A random (version 4) UUID from the OS CSPRNG, lower-case hex with dashes.
std::string random_uuid();

/// A time-ordered (version 7, RFC 9562) UUID: 48 bits of Unix milliseconds, then 74 random bits.
/// Keys made close in time sort close together, so inserting them into a B-tree index touches
/// the same few pages instead of a random page each (fewer pages written per commit).
std::string time_ordered_uuid();

/// `bytes` random bytes from the OS CSPRNG, hex-encoded.
std::string random_hex(std::size_t bytes);

}  // namespace teamreg
