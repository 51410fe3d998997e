"""An experiment runner binary: run_experiment_main.cc with the registered schedules linked in."""

load("//engine/cli:train_binary.bzl", "train_binary")

def experiment_runner(name, schedules = ["//engine/schedule:all_schedules"], **kwargs):
    """A runner whose schedule registry holds `schedules` (alwayslink libraries).

    Beside it, `<name>_train` links the same schedules: the runner's distributed cells launch it,
    so a schedule added here runs in simulated, executor and distributed cells alike.

    Args:
      name: the binary's name.
      schedules: schedule libraries to link; a fork adds its own here.
      **kwargs: passed to cc_binary (args, testonly, visibility).
    """
    train_binary(
        name = name + "_train",
        schedules = schedules,
        testonly = kwargs.get("testonly", 0),
        visibility = kwargs.get("visibility", None),
    )
    native.cc_binary(
        name = name,
        srcs = ["//benchmarks:run_experiment_main.cc"],
        data = [
            ":" + name + "_train",
            "//benchmarks/report:report_scripts",
            "//configs:experiments",
            "//engine/cli:launch",
        ],
        deps = schedules + [
            "//benchmarks/harness:experiment_config",
            "//benchmarks/harness:experiment_run",
            "//benchmarks/harness:matrix_runner",
            "//engine/util:folder_lock",
            "//engine/util:run_main",
            "//engine/util:status_macros",
            "//engine/util:subprocess",
            "//engine/util:workspace",
            "@com_google_absl//:flags",
            "@com_google_absl//:status",
            "@com_google_absl//:strings",
            "@nlohmann_json//:json",
        ],
        **kwargs
    )
