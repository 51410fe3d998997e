"""The train binary (train_main.cc) linked with a chosen set of schedules."""

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
        srcs = ["//engine/cli:train_main.cc"],
        deps = schedules + [
            "//engine/dist:communicator",
            "//engine/dist:rank_runtime",
            "//engine/dist:run_report",
            "//engine/exec:cost_measurement",
            "//engine/exec:executor",
            "//engine/model:dataset",
            "//engine/model:gpt",
            "//engine/model:partition",
            "//engine/platform:blas_info",
            "//engine/schedule:registry",
            "//engine/sim:cost_model",
            "//engine/util:status_macros",
            "//engine/util:workspace",
            "@com_google_absl//:flags",
            "@com_google_absl//:status",
            "@com_google_absl//:strings",
            "@nlohmann_json//:json",
        ],
        **kwargs
    )
