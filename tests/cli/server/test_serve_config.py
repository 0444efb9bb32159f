"""`engine serve` options: the bind-address rule, validation, one-line exit 1 before anything is loaded."""

from __future__ import annotations

import pytest

from cli.app import main
from cli.server import ServeConfig
from cli.server.config import is_loopback, thumbnail_size
from engine.base.errors import EngineError


@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("127.4.5.6", True), ("localhost", True), ("::1", True),
                                         ("[::1]", True), ("0.0.0.0", False), ("192.168.1.20", False), ("::", False),
                                         ("example.org", False)])
def test_loopback(host, local):
    assert is_loopback(host) is local


def test_another_address_needs_a_token_or_no_auth():
    with pytest.raises(EngineError, match="--token-file FILE .* or --no-auth"):
        ServeConfig(host="0.0.0.0").validate()
    assert ServeConfig(host="0.0.0.0", token="t" * 16).validate().token == "t" * 16
    assert ServeConfig(host="0.0.0.0", no_auth=True).validate().no_auth
    assert ServeConfig().validate().host == "127.0.0.1"


@pytest.mark.parametrize("kwargs, words", [({"port": 0}, "--port 0"), ({"port": 70000}, "--port 70000"),
                                           ({"max_upload_mb": 0}, "--max-upload-mb"), ({"token": " "}, "0 characters"),
                                           ({"token": "t" * 16, "no_auth": True}, "contradict"), ({"workers": 0}, "workers"),
                                           ({"max_pixels": 0}, "--max-pixels"), ({"max_pixels": 10, "pixels_in_flight": 9}, "--pixels-in-flight"),
                                           ({"body_timeout_s": 0}, "--body-timeout"), ({"keepalive_timeout_s": -1}, "--keepalive-timeout"),
                                           ({"max_requests": 0}, "--max-requests")])
def test_bad_options(kwargs, words):
    with pytest.raises(EngineError, match=words):
        ServeConfig(**kwargs).validate()


def test_thumbnail_sizes_snap_up():
    assert [thumbnail_size(s) for s in (16, 64, 65, 256, 300, 5000)] == [64, 64, 128, 256, 512, 1024]


@pytest.mark.parametrize("argv, words", [(["--host", "0.0.0.0"], "pass --token-file FILE"),
                                         (["--host", "10.0.0.1", "--no-auth", "--max-pixels", "0"], "--max-pixels 0"),
                                         (["--port", "0"], "--port 0")])
def test_cli_exits_1_with_one_line_before_loading(argv, words, tmp_path, capsys):
    assert main(["serve", "--home", str(tmp_path / "empty"), *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and words in captured.err and captured.err.count("\n") == 1
    assert not (tmp_path / "empty").exists()  # refused before the home was touched


def test_cli_on_an_empty_home(tmp_path, capsys):
    assert main(["serve", "--home", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err
    assert "nothing indexed" in err and err.count("\n") == 1


def test_a_port_in_use_is_one_line_before_loading(tmp_path, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--home", str(tmp_path / "empty"), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
