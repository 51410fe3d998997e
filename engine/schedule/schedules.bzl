"""The lists of schedule and weight-rule files. Adding a schedule: write engine/schedule/<name>.cc (it registers
itself with PIPEBENCH_REGISTER_SCHEDULE) and add <name> here; its library, the registry every
binary links (:all_schedules) and the tests that run every registered schedule pick it up."""

SCHEDULES = [
    "async_naive",
    "controllable_memory_v",
    "dualpipe_v",
    "gpipe",
    "interleaved_1f1b",
    "interleaved_zero_bubble",
    "one_f_one_b_flush",
    "paci",
    "pipedream",
    "pipedream_2bw",
    "pipemare",
    "zero_bubble",
    "zero_bubble_auto",
    "zero_bubble_v",
]

# Weight rules (engine/schedule/registry.h): <name>.cc registers itself with
# PIPEBENCH_REGISTER_WEIGHT_RULE; any schedule takes one on as "<schedule>+<rule>".
WEIGHT_RULES = [
    "nesterov_lookahead",
]
