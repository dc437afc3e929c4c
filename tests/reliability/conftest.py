from .fuzzing import EXAMPLES_VAR, RAN


def pytest_terminal_summary(terminalreporter):
    """How many examples each fuzz test ran, with or without -s."""
    if RAN:
        terminalreporter.section(f"fuzz examples (set {EXAMPLES_VAR} for a longer run)")
        for name, count in sorted(RAN.items()):
            terminalreporter.write_line(f"{name}: {count} examples")
