#include "engine/dist/local_address.h"

#include "gtest/gtest.h"

namespace pipebench {
namespace {

TEST(LocalAddressTest, ALocalHostIsReachedThroughLoopback) {
  auto address = LocalAddressToward("127.0.0.1");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "127.0.0.1");
  auto by_name = LocalAddressToward("localhost");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ(by_name->rfind("127.", 0), 0u) << *by_name;
}

TEST(LocalAddressTest, InterfacesAreFoundByName) {
  auto loopback = InterfaceAddress("lo");
  ASSERT_TRUE(loopback.ok()) << loopback.status();
  EXPECT_EQ(*loopback, "127.0.0.1");
  EXPECT_EQ(InterfaceAddress("nonexistent0").status().message(),
            "network interface 'nonexistent0' has no IPv4 address here");
  EXPECT_NE(LocalAddressToward("no-such-host.invalid").status().message().find(
                "cannot resolve 'no-such-host.invalid'"),
            std::string::npos);
}

}  // namespace
}  // namespace pipebench
