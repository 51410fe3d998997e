"""Fuzz targets that are also unit tests."""

def pipebench_fuzz_test(name, srcs, deps, corpus):
    """A fuzz target (`srcs` define LLVMFuzzerTestOneInput) over a seed corpus.

    In the default build it is a test that replays every corpus file (crashes found earlier are
    kept in the corpus, so they stay fixed). Under --config=fuzz (clang, libFuzzer, ASan and UBSan)
    the same target is a libFuzzer binary:
      ./bazelw run --config=fuzz //engine/sim:cost_model_fuzz_test -- -max_total_time=30 DIR

    Args:
      name: the test's name, `<parser>_fuzz_test`.
      srcs: the fuzz target's source.
      deps: what it fuzzes.
      corpus: seed inputs (files), e.g. the committed configs of that format.
    """
    native.cc_test(
        name = name,
        size = "small",
        srcs = srcs,
        args = ["$(locations %s)" % c for c in corpus],
        data = corpus,
        linkopts = select({
            "//engine/testing:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//engine/testing:fuzzing": [],
            "//conditions:default": ["//engine/testing:fuzz_replay_main"],
        }),
    )
