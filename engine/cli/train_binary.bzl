"""The train binary (the train_main library) linked with a chosen set of schedules."""

def train_binary(name, schedules = ["//engine/schedule:all_schedules"], **kwargs):
    """A `train` binary whose schedule registry holds `schedules` (alwayslink libraries).

    Args:
      name: the binary's name.
      schedules: schedule libraries to link; a runner with schedules of its own passes them here
        (benchmarks/runner.bzl does), so its distributed cells know them too.
      **kwargs: passed to cc_binary (testonly, visibility).
    """
    native.cc_binary(
        name = name,
        deps = schedules + ["//engine/cli:train_main"],
        **kwargs
    )
