#include "notify/smtp_sender.hpp"

#include <gtest/gtest.h>

namespace teamreg::notify {
namespace {

SmtpConfig with_url(std::string url) {
  SmtpConfig config;
  config.url = std::move(url);
  return config;
}

TEST(SmtpConfigTest, AcceptsSmtpAndSmtpsUrls) {
  for (const char* url :
       {"smtp://mail.example.org", "smtp://mail.example.org:587", "smtps://mail.example.org:465",
        "smtp://127.0.0.1:2525/teamreg.example", "smtp://[::1]:25"}) {
    EXPECT_EQ(smtp_config_error(with_url(url)), std::nullopt) << url;
  }
}

TEST(SmtpConfigTest, RefusesOtherSchemesCredentialsAndJunk) {
  EXPECT_NE(smtp_config_error(with_url("http://mail.example.org"))->find("smtp://"),
            std::string::npos);
  EXPECT_NE(smtp_config_error(with_url("mail.example.org:25")), std::nullopt);
  EXPECT_NE(smtp_config_error(with_url("")), std::nullopt);
  EXPECT_NE(smtp_config_error(with_url("smtp://mail.example.org/?x=1")), std::nullopt);
  EXPECT_NE(smtp_config_error(with_url("smtp://mail.example.org/#f")), std::nullopt);
  const auto credentials = smtp_config_error(with_url("smtp://me:hunter22@mail.example.org"));
  ASSERT_NE(credentials, std::nullopt);
  EXPECT_NE(credentials->find("--smtp-user"), std::string::npos);
  EXPECT_EQ(credentials->find("hunter22"), std::string::npos) << "never echo a password";
  const auto broken = smtp_config_error(with_url("smtp://me:hunter22@exa mple.org"));
  ASSERT_NE(broken, std::nullopt);
  EXPECT_EQ(broken->find("hunter22"), std::string::npos) << "never echo a password";
}

TEST(SmtpConfigTest, UserAndPasswordComeTogetherAndTimeoutsArePositive) {
  SmtpConfig config = with_url("smtp://mail.example.org:587");
  config.user = "teamreg";
  EXPECT_NE(smtp_config_error(config), std::nullopt);
  config.password = "secret";
  EXPECT_EQ(smtp_config_error(config), std::nullopt);
  config.connect_timeout = std::chrono::milliseconds(0);
  EXPECT_NE(smtp_config_error(config), std::nullopt);
  EXPECT_FALSE(CurlSmtpSender::create(config).has_value());
}

}  // namespace
}  // namespace teamreg::notify
