#pragma once

#include "http/server_impl.hpp"

namespace teamreg::http {

/// Serves one accepted connection until it closes: requests one after another (keep-alive),
/// ordinary bodies read whole within their limit, upload bodies streamed into their sink after
/// admission, responses with X-Request-ID and CORS, lingering close after early answers.
void start_session(tcp::socket socket, Server::Impl& server);

}  // namespace teamreg::http
