#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "core/registration.hpp"

namespace teamreg::testing {

// Helpers for tests that commit registrations straight through the storage port, without
// registration/ (which storage and its tests must not include).

/// team_key and church_key from the names, as validation computes them for plain ASCII names
/// (lower-cased; team names with runs of whitespace collapsed, church names without whitespace).
inline void rekey(Registration& r) {
  r.team_key.clear();
  bool pending_space = false;
  for (const char c : r.team_name) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      pending_space = !r.team_key.empty();
      continue;
    }
    if (pending_space) r.team_key += ' ';
    pending_space = false;
    r.team_key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  r.church_key.clear();
  for (const char c : r.church_name) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) {
      r.church_key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
}

/// Answers that are recognisable and deliberately not JSON: storage must store and splice them
/// without interpreting them.
inline void fake_answers(Registration& r) {
  r.answers.created_status = 201;
  r.answers.created_head = "<created for " + r.request_id + ": ";
  r.answers.created_tail = " end>";
  for (std::size_t i = 0; i < kRefusalCount; ++i) {
    r.answers.refused.at(i) =
        StoredAnswer{static_cast<unsigned>(440 + i),
                     "<refusal " + std::to_string(i) + " for " + r.request_id + ">"};
  }
}

/// What storage must store for r's Idempotency-Key when it commits under team_id.
inline std::string fake_created_body(const Registration& r, std::string_view team_id) {
  return r.answers.created_head + "\"" + std::string(team_id) + "\"" + r.answers.created_tail;
}

}  // namespace teamreg::testing
