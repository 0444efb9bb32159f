from cli.app import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("engine ")


def test_unknown_command_is_usage_error(capsys):
    assert main(["no-such-verb"]) == 2
