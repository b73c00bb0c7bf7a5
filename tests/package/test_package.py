"""The Debian package (`make package`, packaging/): builds it with CPack from this build tree, checks its files,
control fields and maintainer scripts with dpkg-deb, runs lintian (no errors), unpacks it into a throw-away
root where systemd-sysusers and systemd-tmpfiles create the user and the data directory as postinst does, and
rates the unit's sandbox with systemd-analyze (exposure at most 2.0). No root-only step, nothing installed on
this machine.

Environment: TEAMREG_BUILD_DIR (the CMake build tree with teamreg built), TEAMREG_SOURCE_DIR.
"""

import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ["TEAMREG_BUILD_DIR"]
SOURCE_DIR = os.environ["TEAMREG_SOURCE_DIR"]
TIMEOUT_S = 240

# path in the package -> mode
EXPECTED_FILES = {
    "./etc/teamreg/teamreg.conf": "-rw-r--r--",
    "./lib/systemd/system/teamreg.service": "-rw-r--r--",
    "./usr/bin/teamreg": "-rwxr-xr-x",
    "./usr/lib/sysusers.d/teamreg.conf": "-rw-r--r--",
    "./usr/lib/tmpfiles.d/teamreg.conf": "-rw-r--r--",
    "./usr/share/doc/teamreg/README.md": "-rw-r--r--",
    "./usr/share/doc/teamreg/changelog.gz": "-rw-r--r--",
    "./usr/share/doc/teamreg/copyright": "-rw-r--r--",
    "./usr/share/doc/teamreg/operations.md": "-rw-r--r--",
}


def run(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=TIMEOUT_S, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="teamreg-package-")
        run("cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"), "-B",
            os.path.join(cls.work, "out"), cwd=BUILD_DIR)
        debs = glob.glob(os.path.join(cls.work, "out", "teamreg_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.work, "root")
        run("dpkg-deb", "-x", cls.deb, cls.root)
        cls.control = os.path.join(cls.work, "control")
        run("dpkg-deb", "-e", cls.deb, cls.control)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_files_modes_and_owners(self):
        listing = run("dpkg-deb", "-c", self.deb).stdout
        files = {}
        for line in listing.splitlines():
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            self.assertEqual(owner, "root/root", line)
            if not mode.startswith("d"):
                files[path] = mode
        self.assertEqual(files, EXPECTED_FILES)
        self.assertEqual(os.path.basename(self.deb), f"teamreg_{self.field('Version')}_amd64.deb")

    def field(self, name: str) -> str:
        return run("dpkg-deb", "-f", self.deb, name).stdout.strip()

    def test_control_fields_and_maintainer_scripts(self):
        info = run("dpkg-deb", "-I", self.deb).stdout
        self.assertEqual(self.field("Package"), "teamreg")
        depends = self.field("Depends")
        self.assertIn("systemd | systemd-standalone-sysusers | systemd-sysusers", depends)
        self.assertRegex(depends, r"\blibtomlplusplus3\b")
        self.assertRegex(depends, r"\blibsystemd0\b")
        for script in ("postinst", "prerm", "postrm"):
            self.assertRegex(info, rf"\b{script}\b")
            path = os.path.join(self.control, script)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755, script)
            run("sh", "-n", path)
        with open(os.path.join(self.control, "conffiles")) as f:
            self.assertEqual(f.read(), "/etc/teamreg/teamreg.conf\n")
        with open(os.path.join(self.control, "postinst")) as f:
            postinst = f.read()
        self.assertIn('systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} teamreg.conf', postinst)
        self.assertIn('systemd-tmpfiles ${DPKG_ROOT:+--root="$DPKG_ROOT"} --create teamreg.conf', postinst)
        self.assertIn("deb-systemd-helper enable 'teamreg.service'", postinst)

    def test_lintian_reports_no_errors(self):
        result = run("lintian", "--no-tag-display-limit", self.deb, check=False)
        errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], result.stdout)
        self.assertIn(result.returncode, (0, 2), result.stdout + result.stderr)  # 2: warnings only

    def test_user_and_data_directory_in_a_throwaway_root(self):
        root = os.path.join(self.work, "sysroot")
        shutil.copytree(self.root, root)
        run("systemd-sysusers", f"--root={root}", "teamreg.conf")
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {line.split(":")[0]: line.rstrip("\n").split(":") for line in f}
        self.assertIn("teamreg", users)
        user = users["teamreg"]
        self.assertLess(int(user[2]), 1000, user)  # a system user
        self.assertEqual(user[5:], ["/var/lib/teamreg", "/usr/sbin/nologin"])
        run("systemd-tmpfiles", f"--root={root}", "--create", "teamreg.conf")
        data = os.stat(os.path.join(root, "var", "lib", "teamreg"))
        self.assertTrue(stat.S_ISDIR(data.st_mode))
        self.assertEqual(stat.S_IMODE(data.st_mode), 0o750)
        self.assertEqual((data.st_uid, data.st_gid), (int(user[2]), int(user[3])))

    def test_conffile_lists_every_key_with_its_default(self):
        binary = os.path.join(self.root, "usr", "bin", "teamreg")
        conf = os.path.join(self.root, "etc", "teamreg", "teamreg.conf")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEAMREG_", "AWS_"))}
        defaults = run(binary, "config", "show", env=env).stdout
        shown = {m.group(1): m.group(2) for m in re.finditer(r'^([a-z0-9-]+) = "(.*?)" +# default$', defaults, re.M)}
        self.assertIn("listen", shown)
        with open(conf) as f:
            text = f.read()
        commented = {m.group(1): m.group(2).strip('"')
                     for m in re.finditer(r"^# ([a-z0-9-]+) = (.*)$", text, re.M)}
        active = {m.group(1): m.group(2) for m in re.finditer(r"^([a-z0-9-]+) = (.*)$", text, re.M)}
        self.assertEqual(active, {"data-dir": '"/var/lib/teamreg"'})
        del shown["config"]
        self.assertEqual(set(commented) | set(active), set(shown))
        for key, value in commented.items():
            self.assertEqual(value, shown[key], key)
        # The packaged binary reads the packaged file: the one active key comes from it.
        result = run(binary, "config", "show", "--config", conf, env=env).stdout
        self.assertRegex(result, rf'(?m)^data-dir = "/var/lib/teamreg" +# file {re.escape(conf)}:\d+$')

    def test_unit_sandbox_exposure_at_most_2(self):
        unit = os.path.join(self.root, "lib", "systemd", "system", "teamreg.service")
        result = run("systemd-analyze", "security", "--offline=true", unit, check=False)
        match = re.search(r"Overall exposure level for teamreg\.service: (\d+\.\d)", result.stdout)
        self.assertIsNotNone(match, result.stdout + result.stderr)
        self.assertLessEqual(float(match.group(1)), 2.0, result.stdout)
        with open(unit) as f:
            text = f.read()
        for line in ("Type=notify", "ExecStartPre=/usr/bin/teamreg migrate\nExecStartPre=/usr/bin/teamreg check", "ExecStart=/usr/bin/teamreg serve",
                     "Restart=on-failure", "LimitNOFILE=65536", "User=teamreg",
                     "ReadWritePaths=/var/lib/teamreg", "ProtectSystem=strict",
                     "Environment=TEAMREG_CONFIG=/etc/teamreg/teamreg.conf"):
            self.assertIn(f"\n{line}\n", text)


if __name__ == "__main__":
    unittest.main()
