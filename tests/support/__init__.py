"""What the tests share beyond conftest's fixtures: record makers, the emulated boards' sysroots, the
browser driver, test-only plugins, timing schedules, small models, and the committed test data (data/)."""
