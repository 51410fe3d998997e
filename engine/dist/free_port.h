// A free TCP port on 127.0.0.1, for tests and single-machine benchmarks that start a rendezvous.
// Another process could take it before it is bound again; on one machine that is rare enough.
#ifndef PIPEBENCH_ENGINE_DIST_FREE_PORT_H_
#define PIPEBENCH_ENGINE_DIST_FREE_PORT_H_

namespace pipebench {

int UnusedLoopbackPort();

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_DIST_FREE_PORT_H_
