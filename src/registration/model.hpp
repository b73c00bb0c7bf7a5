#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/registration.hpp"

namespace teamreg {

/// Text and file fields as they came off the wire, before validation.
struct Form {
  std::vector<std::pair<std::string, std::string>> texts;  ///< raw (untrimmed) values, in order
  std::vector<StagedDocument> files;
};

/// Tournament rules that validation enforces.
struct RegistrationRules {
  int min_players = 11;
  int max_players = 15;
  bool require_payment_receipt = false;
  bool require_group_photo = false;
  bool require_player_documents = false;
};

}  // namespace teamreg
