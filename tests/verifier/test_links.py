"""Issue 13: deep links and QR codes of presentation requests, through the real verifier app."""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from servicekit import deeplinks
from tests.verifier.helpers import present, request_body

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _create(client, auth, world):
    r = client.post("/requests", json=request_body(world), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_deep_link_round_trips_to_the_same_request(client, auth, world):
    created = _create(client, auth, world)
    rid = created["id"]
    link = created["deep_link"]
    assert link == "zkcred://present?request_uri=" + urllib.parse.quote(created["request_url"], safe="")
    assert client.get(f"/requests/{rid}", headers=auth).json()["deep_link"] == link
    parsed = deeplinks.parse(link)
    assert parsed.action == "present" and parsed.uri == created["request_url"]
    path = urllib.parse.urlsplit(parsed.uri).path
    doc = client.get(path).json()
    assert doc["id"] == rid and doc["request"] == created["request"]
    # …and it is answerable: the request behind the link is the one verified.
    r = client.post(
        f"/requests/{rid}/presentation", json={"presentation": present(world, world.holders[0], doc["request"])}
    )
    assert r.status_code == 200 and r.json()["verified"] is True


def test_qr_svg_and_png_are_public_and_decodable(client, auth, world):
    created = _create(client, auth, world)
    rid = created["id"]
    svg = client.get(f"/requests/{rid}/qr")  # no API key: public like the document
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    assert root.tag.endswith("svg")
    assert client.get(f"/requests/{rid}/qr?format=svg").content == svg.content
    png = client.get(f"/requests/{rid}/qr", params={"format": "png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG_SIGNATURE) and len(png.content) > 100
    # The code carries the deep link: the same bytes segno makes of it.
    from servicekit.qr import qr_bytes

    assert png.content == qr_bytes(created["deep_link"], "png")


def test_qr_refusals_are_problems(client, auth, world):
    rid = _create(client, auth, world)["id"]
    r = client.get(f"/requests/{rid}/qr?format=gif")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/requests/nope/qr")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


GOOD = "zkcred://present?request_uri=https%3A%2F%2Fv.test%2Frequests%2Fabc%2Fdocument"


@pytest.mark.parametrize(
    "link",
    [
        "https://present?request_uri=https%3A%2F%2Fv.test%2Fx",  # another scheme
        "zkcred://pay?request_uri=https%3A%2F%2Fv.test%2Fx",  # unknown action
        "zkcred://present",  # no parameter
        "zkcred://present?request_uri=",  # empty
        "zkcred://present?offer_uri=https%3A%2F%2Fv.test%2Fx",  # the other action's parameter
        "zkcred://present?request_uri=https%3A%2F%2Fv.test%2Fx&x=1",  # an unknown parameter
        "zkcred://present?request_uri=https%3A%2F%2Fa&request_uri=https%3A%2F%2Fb",  # repeated
        "zkcred://present?request_uri=file%3A%2F%2F%2Fetc%2Fpasswd",  # not http(s)
        "zkcred://present?request_uri=%2Frelative",  # not absolute
        "zkcred://present/extra?request_uri=https%3A%2F%2Fv.test%2Fx",  # a path
        GOOD + "#frag",
    ],
)
def test_bad_deep_links_are_refused(link):
    with pytest.raises(deeplinks.DeepLinkError) as e:
        deeplinks.parse(link)
    assert "\n" not in str(e.value)


def test_deep_link_action_must_match():
    assert deeplinks.parse(GOOD).uri == "https://v.test/requests/abc/document"
    assert deeplinks.resolve(GOOD, action="present") == "https://v.test/requests/abc/document"
    assert deeplinks.resolve("https://v.test/x", action="present") == "https://v.test/x"  # not a link: as is
    with pytest.raises(deeplinks.DeepLinkError, match="not 'accept'"):
        deeplinks.resolve(GOOD, action="accept")
    offer = deeplinks.build("accept", "https://issuer.test/offers/1")
    assert deeplinks.parse(offer, action="accept").uri == "https://issuer.test/offers/1"
