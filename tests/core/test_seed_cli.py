"""``flask seed demo``: the accounts get the password the README documents."""

from marketplace.demo import cli as seed


def _run(app, monkeypatch, *args, env=None):
    used = []

    def fake_load_demo(password=None, **_kw):
        used.append(password)
        return {email: password for _role, email, _name, _org in seed.DEMO_ACCOUNTS}

    monkeypatch.setattr(seed, "load_demo", fake_load_demo)
    monkeypatch.setattr(seed, "demo_is_loaded", lambda: False)
    monkeypatch.setattr("marketplace.search.indexing.reindex_all", lambda: {})
    result = app.test_cli_runner().invoke(args=["seed", "demo", *args], env=env or {})
    return result, used


def test_demo_password_defaults_to_the_documented_one(app, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    result, used = _run(app, monkeypatch)
    assert result.exit_code == 0, result.output
    assert used == ["demo-Passw0rd"]
    assert "admin@demo.zhongjie.test" in result.output and "demo-Passw0rd" in result.output


def test_demo_password_option_and_environment_still_apply(app, monkeypatch):
    assert _run(app, monkeypatch, "--password", "Other-pass-1")[1] == ["Other-pass-1"]
    assert _run(app, monkeypatch, env={"DEMO_PASSWORD": "From-env-2"})[1] == ["From-env-2"]


def test_demo_is_refused_in_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result, used = _run(app, monkeypatch)
    assert result.exit_code == 1 and used == []
