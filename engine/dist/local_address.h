// Which local address a rank's Gloo transport listens on. Gloo binds its TCP device to one address
// and tells its peers that address, so on several hosts it must be an address the others reach:
// the one this host would use to reach the rendezvous host, not that host's own address.
#ifndef PIPEBENCH_ENGINE_DIST_LOCAL_ADDRESS_H_
#define PIPEBENCH_ENGINE_DIST_LOCAL_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"

namespace pipebench {

// The local IPv4 address the kernel routes `host` (a name or dotted address) through, found by
// connecting a UDP socket (no packet is sent). Loopback for a local host.
absl::StatusOr<std::string> LocalAddressToward(const std::string& host);

// The IPv4 address of network interface `name` (e.g. "eth0"), as GLOO_SOCKET_IFNAME names it.
absl::StatusOr<std::string> InterfaceAddress(const std::string& name);

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_LOCAL_ADDRESS_H_
