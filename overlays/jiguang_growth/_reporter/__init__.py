"""Background event reporting: ``track`` returns at once; batches go out behind it, durably if asked.

The public names are re-exported from :mod:`jiguang_growth` (see docs/reporter.md). This file
imports nothing, so the command line can load ``_reporter._cli`` without the reporter itself.
"""
