#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace teamreg {

/// A document staged on disk under a server-generated key; never named by the client.
struct StagedDocument {
  std::string field;         ///< form field, e.g. "pastor_letter" or "player_3_aadhar_file"
  std::string storage_key;   ///< server-generated UUID; the file name in the blob store
  std::string content_type;  ///< sniffed from content: image/png, image/jpeg or application/pdf
  std::uint64_t size_bytes = 0;
};

struct Person {
  std::string name;
  std::string phone;     ///< 10 digits
  std::string email;     ///< lower-cased
  std::string whatsapp;  ///< 10 digits or empty
};

struct Player {
  std::string name;
  std::string role;  ///< empty or one of Batsman, Bowler, All-Rounder, Wicket-Keeper
};

/// A validated registration, ready to commit. Plain data, passed by value.
struct Registration {
  std::string request_uuid;  ///< unique per request; resolves ambiguous commits
  std::string request_id;    ///< X-Request-ID, for logs and stored responses
  std::string team_name;
  std::string church_name;
  Person captain;
  Person vice;
  std::vector<Player> players;
  std::vector<StagedDocument> documents;
  std::string idempotency_key;  ///< empty when the client sent none
  std::string
      idempotency_fingerprint;  ///< hash of the parsed form (field names, values, file bytes)
};

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
