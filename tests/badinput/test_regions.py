"""Events' region rules on a MaxMind DB (--geoip FILE.mmdb): countries and
their subdivisions (CN-GD), from outside over HTTP.

The database is written here by tests/lib/mmdbwriter.py and checked with
libmaxminddb's own mmdblookup (Debian's mmdb-bin) before the server reads
it.  Viewers connect from addresses of a veth pair this test creates in its
own network namespace (both ends stay in it; the server listens on [::]
and nothing leaves the namespace):

    10.62.1.5          CN, subdivision GD        2001:db8:62:1::5  CN, GD
    10.62.2.5          CN, subdivision BJ        2001:db8:62:2::5  GB, ENG
    10.62.3.5          CN, no subdivision
    10.62.4.5          DE, subdivision BY
    10.62.9.5          in no network

Asserted: a subdivision rule admits only that subdivision (not the rest of
the country, not an address the database gives no subdivision for); a
country rule covers all its subdivisions; deny lists; IPv6 and IPv4 peers
(the latter seen as ::ffff:a.b.c.d); a renewal refused once the viewer's
region is denied; every refusal is counted in /api/stats events_refused;
bad codes get 400 with error.field "regions" and change nothing; and a
MaxMind DB that is not valid, missing, or paired with --geoip6 stops the
server with a clear reason.

Run by tests/badinput/run inside a network namespace with only loopback.
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import mmdbwriter  # noqa: E402
import stagecast  # noqa: E402

GD4, BJ4, CN4, DE4, NOWHERE4 = "10.62.1.5", "10.62.2.5", "10.62.3.5", "10.62.4.5", "10.62.9.5"
GD6, GB6 = "2001:db8:62:1::5", "2001:db8:62:2::5"
VETH = ("scgeo0", "scgeo1")


def city(country, subdivision=None):
    """A record shaped like GeoIP2 City's (only what matters here, and a
    name or two)."""
    rec = {"country": {"iso_code": country, "geoname_id": 1814991}}
    if subdivision:
        rec["subdivisions"] = [{"iso_code": subdivision, "names": {"en": subdivision + " province"}}]
    return rec


def write_database(path):
    w = mmdbwriter.Writer(database_type="Stagecast-Test-City",
                          description={"en": "region rules test", "zh-CN": "测试"},
                          languages=["en", "zh-CN"])
    w.insert("10.62.1.0/24", city("CN", "GD"))
    w.insert("10.62.2.0/24", city("CN", "BJ"))
    w.insert("10.62.3.0/24", city("CN"))
    w.insert("10.62.4.0/24", city("DE", "BY"))
    w.insert("2001:db8:62:1::/64", city("CN", "GD"))
    w.insert("2001:db8:62:2::/64", city("GB", "ENG"))
    w.write(path)


def mmdblookup(path, addr, *keys):
    r = subprocess.run(["mmdblookup", "--file", path, "--ip", addr] + list(keys),
                       capture_output=True, text=True, timeout=10)
    return r.stdout + r.stderr


class Regions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stagecast-regions-")
        cls.db = os.path.join(cls.tmp, "city.mmdb")
        write_database(cls.db)
        subprocess.run(["ip", "link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1]],
                       check=True)
        for dev in VETH:
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        for a in (GD4, BJ4, CN4, DE4, NOWHERE4):
            subprocess.run(["ip", "addr", "add", a + "/32", "dev", VETH[0]], check=True)
        for a in (GD6, GB6):
            subprocess.run(["ip", "addr", "add", a + "/128", "dev", VETH[0], "nodad"], check=True)
        cls.server = stagecast.Server(workers=1, extra_args=["--geoip", cls.db],
                                      listen_host="::").start()
        cls.admin = cls.server.admin_token()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()
        subprocess.run(["ip", "link", "del", VETH[0]])
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def call(self, method, path, body=None, source=None, token=None):
        """A request from `source` (an address of this namespace) to the
        server; (status, JSON body)."""
        host = "::1" if source and ":" in source else "127.0.0.1"
        conn = http.client.HTTPConnection(host, self.server.port, timeout=10,
                                          source_address=(source, 0) if source else None)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, json.loads(data) if data else None

    def admin_call(self, method, path, body=None):
        return self.call(method, path, body, token=self.admin)

    def refused_count(self):
        return self.server.stats(self.admin)["events_refused"]

    def event(self, title, regions):
        status, ev = self.admin_call("POST", "/api/v1/events", {
            "title": title, "starts_at": int(time.time()), "regions": regions})
        self.assertEqual(status, 201, ev)
        return ev

    def joins(self, slug, sources):
        """{source: 200 or the refusal's error code} for a join from each."""
        out = {}
        for s in sources:
            status, body = self.call("POST", "/api/v1/watch/%s/join" % slug, {}, source=s)
            if status == 200:
                out[s] = 200
            else:
                self.assertEqual(status, 403, body)
                out[s] = body["error"]["code"]
        return out

    def set_regions(self, ev, regions):
        status, body = self.admin_call("PATCH", "/api/v1/events/%d" % ev["id"], {"regions": regions})
        self.assertEqual(status, 200, body)
        return body["regions"]

    def test_database_reads_back_with_libmaxminddb(self):
        """The writer's file, as libmaxminddb's own tool reads it, and as the
        server describes it at start."""
        self.assertTrue(shutil.which("mmdblookup"), "mmdblookup (Debian's mmdb-bin, scripts/setup)")
        self.assertIn('"GD"', mmdblookup(self.db, GD4, "subdivisions", "0", "iso_code"))
        self.assertIn('"CN"', mmdblookup(self.db, "::ffff:" + GD4, "country", "iso_code"))
        self.assertIn('"ENG"', mmdblookup(self.db, GB6, "subdivisions", "0", "iso_code"))
        self.assertIn("Could not find an entry", mmdblookup(self.db, NOWHERE4))
        meta = subprocess.run(["mmdblookup", "--file", self.db, "--ip", GD4, "--verbose"],
                              capture_output=True, text=True, timeout=10).stdout
        for line in ("Record size:   24 bits", "IP version:    IPv6", "Binary format: 2.0",
                     "Type:          Stagecast-Test-City", "Languages:     en zh-CN"):
            self.assertIn(line, meta)
        self.assertIn("region database: MaxMind DB Stagecast-Test-City built ", self.server.log_text())

    def test_subdivision_rules(self):
        everyone = (GD4, BJ4, CN4, DE4, NOWHERE4, GD6, GB6)
        ev = self.event("Guangdong roadshow", {"allow": ["cn-gd"]})
        self.assertEqual(ev["regions"], {"allow": ["CN-GD"], "deny": []})
        before = self.refused_count()
        self.assertEqual(self.joins(ev["slug"], everyone), {
            GD4: 200, GD6: 200,
            BJ4: "region-not-allowed",       # another province of the same country
            CN4: "region-not-allowed",       # the database gives no province: no match
            DE4: "region-not-allowed",
            NOWHERE4: "region-not-allowed",  # in no network: fails an allow list
            GB6: "region-not-allowed"})
        self.assertEqual(self.refused_count() - before, 5, "every refusal is counted")

        # A country covers its provinces; a denied province is carved out.
        self.assertEqual(self.set_regions(ev, {"allow": ["CN"], "deny": ["CN-BJ"]}),
                         {"allow": ["CN"], "deny": ["CN-BJ"]})
        self.assertEqual(self.joins(ev["slug"], everyone), {
            GD4: 200, GD6: 200, CN4: 200,
            BJ4: "region-not-allowed", DE4: "region-not-allowed",
            NOWHERE4: "region-not-allowed", GB6: "region-not-allowed"})

        # Deny only: the listed province and country, nobody else.
        self.set_regions(ev, {"allow": [], "deny": ["CN-GD", "DE"]})
        self.assertEqual(self.joins(ev["slug"], everyone), {
            BJ4: 200, CN4: 200, GB6: 200,
            NOWHERE4: 200,                   # unknown passes a deny list
            GD4: "region-not-allowed", GD6: "region-not-allowed", DE4: "region-not-allowed"})

    def test_renewal_follows_the_rules(self):
        ev = self.event("Shenzhen only", {"allow": ["CN-GD"]})
        status, admitted = self.call("POST", "/api/v1/watch/%s/join" % ev["slug"], {}, source=GD4)
        self.assertEqual(status, 200, admitted)
        renew = "/api/v1/watch/%s/renew" % ev["slug"]
        self.assertEqual(self.call("POST", renew, {}, source=GD4, token=admitted["token"])[0], 200)
        self.set_regions(ev, {"allow": [], "deny": ["CN-GD"]})
        before = self.refused_count()
        status, body = self.call("POST", renew, {}, source=GD4, token=admitted["token"])
        self.assertEqual((status, body["error"]["code"]), (403, "region-not-allowed"))
        self.assertEqual(self.refused_count() - before, 1)

    def test_bad_codes(self):
        ev = self.event("Codes", {"allow": ["CN-GD", "GB-ENG", "FR-75"]})
        self.assertEqual(ev["regions"]["allow"], ["CN-GD", "GB-ENG", "FR-75"])
        for bad in (["CN-"], ["CN-ABCD"], ["CN_GD"], ["C-GD"], ["CN-G D"], ["C1-GD"], ["CNGD"],
                    ["DEU"], ["CN-GD", "X"], "CN-GD", [7]):
            status, err = self.admin_call("PATCH", "/api/v1/events/%d" % ev["id"],
                                          {"regions": {"deny": bad}})
            self.assertEqual(status, 400, (bad, err))
            self.assertEqual(err["error"]["code"], "bad-request")
            self.assertEqual(err["error"]["field"], "regions", err)
        status, err = self.admin_call("POST", "/api/v1/events", {
            "title": "Refused", "starts_at": int(time.time()), "regions": {"allow": ["CN-GDX1"]}})
        self.assertEqual((status, err["error"]["field"]), (400, "regions"))
        self.assertIn("'CN-GDX1'", err["error"]["message"])
        # A refused request stores nothing.
        status, again = self.admin_call("GET", "/api/v1/events/%d" % ev["id"])
        self.assertEqual(again["regions"], {"allow": ["CN-GD", "GB-ENG", "FR-75"], "deny": []})
        status, listed = self.admin_call("GET", "/api/v1/events")
        self.assertNotIn("Refused", [e["title"] for e in listed["events"]])

    def test_bad_databases_stop_the_server(self):
        text = os.path.join(self.tmp, "not-really.mmdb")
        with open(text, "w") as f:
            f.write("16777216,16777471,AU\n")
        cut = os.path.join(self.tmp, "cut.mmdb")
        with open(self.db, "rb") as f:
            whole = f.read()
        with open(cut, "wb") as f:
            f.write(whole[:whole.rindex(mmdbwriter.METADATA_MARKER) + 20])
        cases = [
            (["--geoip", text], "not-really.mmdb is not a valid MaxMind DB"),
            (["--geoip", cut], "cut.mmdb is not a valid MaxMind DB"),
            (["--geoip", os.path.join(self.tmp, "missing.mmdb")], "cannot read "),
            (["--geoip", self.db, "--geoip6", "/usr/share/tor/geoip6"], "goes alone in --geoip"),
        ]
        for args, why in cases:
            server = stagecast.Server(workers=1, extra_args=args)
            self.addCleanup(server.cleanup)
            with self.assertRaises(RuntimeError) as ctx:
                server.start(timeout=10)
            self.assertIn(why, str(ctx.exception), args)
            self.assertIn("--geoip", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
