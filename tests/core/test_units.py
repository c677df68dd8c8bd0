from rnn_tui.core.units import NATS_TO_BITS, ago, clock, count, duration


def test_durations_counts_and_ages_read_as_people_write_them():
    assert [duration(s) for s in (None, -3, 0, 125, 3599, 3600, 3725, 90061)] == [
        "-",
        "0m00s",
        "0m00s",
        "2m05s",
        "59m59s",
        "1h00m",
        "1h02m",
        "25h01m",
    ]
    assert [clock(s) for s in (None, 0, 3725.9, 90061)] == ["-", "0:00:00", "1:02:05", "25:01:01"]
    assert [ago(s) for s in (-1, 0, 59, 60, 7200, 3 * 86400 + 5)] == [
        "0s ago",
        "0s ago",
        "59s ago",
        "1m ago",
        "2h ago",
        "3d ago",
    ]
    assert [count(n) for n in (0, 999, 1000, 812_345, 2.5e6, 3e9)] == ["0", "999", "1.0k", "812.3k", "2.5M", "3.0G"]
    assert abs(NATS_TO_BITS * 0.6931471805599453 - 1) < 1e-12
