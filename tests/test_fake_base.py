"""The fake service base: serving, spec checks, faults and accounting, with real HTTP clients."""

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pagerduty
import pytest
import requests

from fakes import spec as specs
from fakes.base import FakeService, fake_env, route
from fakes.world import World

PET = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "tag": {"type": "string", "nullable": True},
    },
}


def json_of(schema):
    return {"application/json": {"schema": schema}}


PET_REF = {"$ref": "#/components/schemas/Pet"}
PET_LIST = {"type": "array", "items": PET_REF}
PETS_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "pets", "version": "1"},
    "servers": [{"url": "https://pets.example/v1"}],
    "paths": {
        "/pets": {
            "get": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {
                    "200": {
                        "description": "",
                        "content": json_of(PET_LIST),
                    }
                },
            },
            "post": {
                "requestBody": {"required": True, "content": json_of(PET_REF)},
                "responses": {"201": {"$ref": "#/components/responses/OnePet"}},
            },
        },
        "/pets/{id}": {
            "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
            "get": {
                "responses": {
                    "200": {"$ref": "#/components/responses/OnePet"},
                    "404": {"description": "no such pet"},
                }
            },
        },
    },
    "components": {
        "schemas": {"Pet": PET},
        "responses": {"OnePet": {"description": "a pet", "content": json_of(PET_REF)}},
    },
}


class PetsFake(FakeService):
    spec = PETS_SPEC
    env_var = "PETS_API_URL"

    def __init__(self, **kw):
        super().__init__(**kw)
        self.pets = {}
        self.broken = False  # answer with bodies that break the spec

    @route("GET", "/pets")
    def list_pets(self, req):
        pets = list(self.pets.values())[: int(req.query.get("limit", 100))]
        return 200, [{**p, "name": 7} for p in pets] if self.broken else pets

    @route("POST", "/pets")
    def create_pet(self, req):
        pet = {**req.json, "id": len(self.pets) + 1}
        self.pets[pet["id"]] = pet
        return 201, pet, {"Location": f"/v1/pets/{pet['id']}"}

    @route("GET", "/pets/{id}")
    def get_pet(self, req, id):
        pet = self.pets.get(int(id))
        return (200, pet) if pet else (404, None)

    @route("GET", "/secret")
    def secret(self, req):
        return 200, {"undocumented": True}


@pytest.fixture
def pets():
    with PetsFake() as fake:
        yield fake


def expect_violations(fake, *fragments):
    """One violation per fragment, each with its fragment; then forget them to exit clean."""
    text = "\n".join(fake.violations)
    assert len(fake.violations) == len(fragments), text
    for fragment in fragments:
        assert fragment in text
    fake.violations.clear()


def test_valid_traffic_passes(pets):
    created = requests.post(pets.url + "/pets", json={"name": "Rex", "tag": None})
    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/pets/1"
    assert requests.get(pets.url + "/pets", params={"limit": "5"}).json() == [created.json()]
    assert requests.get(pets.url + "/pets/1").json()["name"] == "Rex"
    assert requests.get(pets.url + "/pets/2").status_code == 404
    assert pets.violations == []


def test_invalid_request_body_is_a_violation(pets):
    requests.post(pets.url + "/pets", json={"name": 1})
    as_json = {"Content-Type": "application/json"}
    requests.post(pets.url + "/pets", data="{not json", headers=as_json)
    expect_violations(
        pets,
        "POST /v1/pets (POST /pets): request body: 1 is not of type 'string' (at $.name)",
        "request body is not JSON",
    )


def test_bad_parameters_are_violations(pets):
    requests.get(pets.url + "/pets", params={"limit": "many", "color": "red"})
    requests.get(pets.url + "/pets/rex")
    expect_violations(
        pets,
        "query parameter 'limit': 'many' is not of type 'integer'",
        "undeclared query parameter 'color'",
        "path parameter 'id': 'rex' is not of type 'integer'",
    )


def test_undocumented_and_unknown_routes_are_violations(pets):
    assert requests.get(pets.url + "/secret").status_code == 200  # handled, but not in the spec
    assert requests.delete(pets.url + "/pets/1").status_code == 404
    assert requests.get(pets.origin + "/elsewhere").status_code == 404  # outside base_path
    expect_violations(
        pets,
        "GET /v1/secret: not in the spec",
        "DELETE /v1/pets/1: not in the spec",
        "DELETE /v1/pets/1: no handler in PetsFake",
        "GET /elsewhere: no handler",
    )


def test_invalid_response_body_is_a_violation(pets):
    requests.post(pets.url + "/pets", json={"name": "Rex"})
    pets.broken = True
    requests.get(pets.url + "/pets")
    expect_violations(pets, "GET /v1/pets (GET /pets) -> 200: response 200 body: 7 is not of type")


def test_leaving_the_block_raises_on_violations():
    with pytest.raises(AssertionError, match="1 violation"), PetsFake() as fake:
        requests.get(fake.url + "/secret")


def test_https_with_the_ca_bundle(monkeypatch):
    with PetsFake(tls=True) as fake:
        env = fake_env(fake)
        assert env["PETS_API_URL"] == fake.url and fake.url.startswith("https://127.0.0.1:")
        assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == fake.ca_bundle_path
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(fake.url + "/pets", verify=True)  # the system store does not know it
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert requests.get(env["PETS_API_URL"] + "/pets").json() == []


def test_injected_429_then_the_handler_answers(pets):
    fault = pets.inject("GET", "/pets", status=429, headers={"Retry-After": "1"})
    first = requests.get(pets.url + "/pets")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert requests.get(pets.url + "/pets").status_code == 200
    assert fault.remaining == 0
    assert [c.fault for c in pets.calls] == [True, False]  # an undocumented 429: no violation


def test_injected_faults_match_templates_and_globs(pets):
    pets.inject("*", "/pets/{id}", status=503, times=2, body={"error": "down"})
    pets.inject("GET", "/**", status=500)
    assert requests.get(pets.url + "/pets/1").json() == {"error": "down"}
    assert requests.get(pets.url + "/pets/2").status_code == 503
    assert requests.get(pets.url + "/pets/3").status_code == 500
    assert requests.get(pets.url + "/pets/3").status_code == 404


def test_injected_delay_times_the_client_out(pets):
    pets.inject("GET", "/pets", delay=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(pets.url + "/pets", timeout=0.2)
    assert requests.get(pets.url + "/pets", timeout=2).status_code == 200


def test_latency_and_counts(pets):
    pets.latency = 0.05
    started = time.monotonic()
    requests.post(pets.url + "/pets", json={"name": "Rex"})
    for _ in range(3):
        requests.get(pets.url + "/pets/1")
    assert time.monotonic() - started >= 0.2
    assert (pets.count(), pets.count("GET"), pets.count(path="/pets/{id}")) == (4, 3, 3)
    assert (pets.count("POST", "/pets"), pets.count("GET", "/pets/*")) == (1, 3)
    assert pets.count("PUT") == 0
    assert (pets.reads(), pets.writes()) == (3, 1)
    assert pets.calls[0].status == 201
    pets.reset_counts()
    assert pets.count() == 0


def test_concurrent_requests_are_all_counted(pets):
    def create(i):
        return requests.post(pets.url + "/pets", json={"name": f"p{i}"}).json()["id"]

    with ThreadPoolExecutor(8) as pool:
        ids = sorted(pool.map(create, range(40)))
    assert ids == list(range(1, 41))  # handlers ran one at a time, under fake.lock
    assert pets.count("POST", "/pets") == 40


def test_quirks_must_name_real_operations():
    class Misspelt(PetsFake):
        status_aliases = (("GET", "/pet/{id}", 200, 201),)

    class Unexplained(PetsFake):
        unchecked_responses = (("GET", "/pets/{id}", " "),)

    with pytest.raises(ValueError, match="not an operation"):
        Misspelt()
    with pytest.raises(ValueError, match="needs a reason"):
        Unexplained()


USER = {"id": "PU1", "type": "user", "name": "Alice Andersen", "email": "alice@example.com"}


class TinyPagerDuty(FakeService):
    spec = "pagerduty-rest.json"
    tls = True  # the pagerduty client refuses http://
    # specs/README.md: documented as answering 201, the live API answers 200.
    status_aliases = (("GET", "/schedules/{id}/overrides", 200, 201),)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.users = [USER]

    @route("GET", "/users")
    def list_users(self, req):
        limit, offset = int(req.query.get("limit", 25)), int(req.query.get("offset", 0))
        page = self.users[offset : offset + limit]
        more = offset + limit < len(self.users)
        return 200, {"users": page, "limit": limit, "offset": offset, "more": more, "total": None}

    @route("GET", "/schedules/{id}/overrides")
    def list_overrides(self, req, id):
        return 200, {"overrides": []}


def test_real_spec_pagerduty_client_over_https(monkeypatch):
    with TinyPagerDuty() as fake:
        monkeypatch.setenv("SSL_CERT_FILE", fake.ca_bundle_path)  # read when the client is made
        client = pagerduty.RestApiV2Client("fake-token")
        client.url = fake.url
        assert client.list_all("users") == [USER]
        assert fake.count("GET", "/users") == 1 and fake.reads() == 1


def test_real_spec_checks_requests_and_responses():
    with TinyPagerDuty() as fake:
        get = functools.partial(requests.get, verify=fake.ca_bundle_path)
        wrong = get(fake.url + "/users", params={"include[]": ["teams", "nope"]})
        assert wrong.status_code == 400  # an invalid request never reaches the handler
        fake.users = [{"id": "PU2", "type": "user", "name": "No Email"}]
        assert get(fake.url + "/users", params={"include[]": ["teams"]}).status_code == 200
        overrides = get(fake.url + "/schedules/PS1/overrides", params={"since": "a", "until": "b"})
        assert overrides.status_code == 200  # documented as 201: accepted through the alias
        expect_violations(
            fake,
            "GET /users?include[]=teams&include[]=nope (GET /users): query parameter 'include[]': "
            "'nope' is not one of",
            "response 200 body: 'email' is a required property (at $.users[0])",
        )


class UntoldPagerDuty(TinyPagerDuty):
    status_aliases = ()  # the vendor file as it is


def test_without_the_alias_the_documented_201_wins():
    untold = pytest.raises(AssertionError, match="response status 200 not documented")
    with untold, UntoldPagerDuty() as fake:
        url = fake.url + "/schedules/PS1/overrides?since=a&until=b"
        requests.get(url, verify=fake.ca_bundle_path)


@pytest.mark.parametrize("name", sorted(p.name for p in specs.SPECS_DIR.glob("*.json")))
def test_every_spec_loads_and_every_ref_resolves(name):
    spec = specs.load(name)
    resolver = spec.registry.resolver()
    refs, todo = set(), [spec.doc]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            refs.add(node.get("$ref"))
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    for ref in refs - {None}:
        resolver.lookup("urn:spec" + ref)
    assert spec.operations


HISTORY_200 = ("paths", "/conversations.history", "get", "responses", "200", "schema")


class TinySlack(FakeService):
    spec = "slack-web.json"
    env_var = "SLACK_API_URL"
    # specs/README.md: every method also takes POST, with form or JSON arguments.
    method_fallbacks = (("POST", "GET"),)
    args_anywhere = True
    # slack_sdk sends the token as "Authorization: Bearer", not as the documented argument.
    ignore_params = (("header", "token"), ("query", "token"))
    # specs/README.md: the 2021 file lacks response_metadata on history responses.
    spec_patches = (
        (
            (*HISTORY_200, "properties", "response_metadata"),
            {"$ref": "#/definitions/objs_response_metadata"},
        ),
    )

    def __init__(self, **kw):
        super().__init__(**kw)
        self.messages = []

    def env(self):
        return {"SLACK_API_URL": self.url + "/"}  # slack_sdk joins method names to it

    def is_read(self, method, path):
        return path.rsplit(".", 1)[-1] in {"test", "history", "info", "list"}

    def response_key(self, method, template, status, body):
        # Slack answers errors with HTTP 200 and ok: false, which the file documents as default.
        failed = isinstance(body, dict) and body.get("ok") is False
        return "default" if failed else super().response_key(method, template, status, body)

    @route("POST", "/auth.test")
    def auth_test(self, req):
        if req.authorization != "Bearer xoxb-fake":
            return 200, {"ok": False, "error": "invalid_auth"}
        me = {"url": "https://fake.slack.com/", "team": "Fake", "user": "hero"}
        return 200, {"ok": True, **me, "team_id": "T0FAKE", "user_id": "U0HERO"}

    @route("POST", "/chat.postMessage")
    def post_message(self, req):
        message = {"type": "message", "text": req.args["text"], "ts": "1700000000.000100"}
        self.messages.append(message)
        ok = {"ok": True, "channel": req.args["channel"], "ts": message["ts"]}
        return 200, {**ok, "message": message}

    @route("GET", "/conversations.history")
    @route("POST", "/conversations.history")  # what slack_sdk sends
    def history(self, req):
        page = {"has_more": False, "response_metadata": {"next_cursor": ""}}
        old = {"pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}
        return 200, {"ok": True, "messages": self.messages, **page, **old}


def test_swagger_spec_with_the_slack_client():
    slack_sdk = pytest.importorskip("slack_sdk")
    with TinySlack() as fake:
        client = slack_sdk.WebClient(token="xoxb-fake", base_url=fake_env(fake)["SLACK_API_URL"])
        assert client.auth_test()["user_id"] == "U0HERO"  # POSTed, documented as GET
        client.chat_postMessage(channel="C0123ABCDE", text="hello")  # JSON arguments
        history = client.conversations_history(channel="C0123ABCDE", limit=10)
        assert [m["text"] for m in history["messages"]] == ["hello"]
        with pytest.raises(slack_sdk.errors.SlackApiError):
            slack_sdk.WebClient(token="xoxb-wrong", base_url=fake.url + "/").auth_test()
        assert (fake.reads(), fake.writes()) == (3, 1)
        with pytest.raises(slack_sdk.errors.SlackApiError, match="400"):
            client.chat_postMessage(channel="C0123ABCDE", text="hi", colour="red")
        expect_violations(fake, "(POST /chat.postMessage): undeclared argument 'colour'")


def test_a_world_points_a_job_at_its_fakes_and_nothing_else(slack_fake, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-a-real-one")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_a_real_one")  # a service the world does not hold
    world = World(slack=slack_fake)
    world.point(monkeypatch)
    assert os.environ["SLACK_API_URL"] == slack_fake.url
    assert os.environ["SLACK_BOT_TOKEN"] == slack_fake.token and "GITHUB_TOKEN" not in os.environ
    shell = {"HOME": "/h", "PAGERDUTY_TOKEN": "u+real", "STRIPE_API_URL": "https://api.stripe.com"}
    assert world.environ(shell, []) == {"HOME": "/h"}
    assert world.slack is slack_fake and world.requests() == (0,)
    with pytest.raises(AttributeError, match="its fakes: \\['slack'\\]"):
        world.github  # noqa: B018
