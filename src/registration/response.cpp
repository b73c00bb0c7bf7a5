#include "registration/response.hpp"

#include <boost/json.hpp>

namespace teamreg {

std::string registered_body(std::string_view team_id, std::string_view team_name,
                            int player_count) {
  return boost::json::serialize(boost::json::object{
      {"success", true},
      {"team_id", team_id},
      {"team_name", team_name},
      {"message", kRegisteredMessage},
      {"player_count", player_count},
      {"registration_status", "pending"},
  });
}

}  // namespace teamreg
