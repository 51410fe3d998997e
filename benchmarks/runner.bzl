"""An experiment runner binary: run_experiment_main.cc with the registered schedules linked in."""

def experiment_runner(name, schedules = ["//engine/schedule:all_schedules"], **kwargs):
    """A runner whose schedule registry holds `schedules` (alwayslink libraries).

    Args:
      name: the binary's name.
      schedules: schedule libraries to link; a fork adds its own here.
      **kwargs: passed to cc_binary (args, testonly, visibility).
    """
    native.cc_binary(
        name = name,
        srcs = ["//benchmarks:run_experiment_main.cc"],
        data = [
            "//benchmarks/report:report_scripts",
            "//configs:experiments",
            "//engine/cli:launch",
        ],
        deps = schedules + [
            "//benchmarks/harness:experiment_config",
            "//benchmarks/harness:experiment_run",
            "//benchmarks/harness:matrix_runner",
            "//engine/util:status_macros",
            "//engine/util:workspace",
            "@com_google_absl//:flags",
            "@com_google_absl//:status",
            "@com_google_absl//:strings",
            "@nlohmann_json//:json",
        ],
        **kwargs
    )
