"""The pure core: answers, the central lists, plans and the decisions they rest on. No AWS calls,
no terminal: hand-built values in, values out, testable in milliseconds."""
