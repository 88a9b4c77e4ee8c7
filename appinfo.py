"""Application name, organisation and version (read by main.py, the GUI and build.spec; no Qt)."""
APP_NAME = "CrashLab"
ORG_NAME = "CrashLab"
ORG_DOMAIN = "crashlab.org"
APP_VERSION = "0.1.0"
APP_ID = "org.crashlab.CrashLab"      # reverse-DNS id: .desktop, AppStream, icons, macOS bundle
APP_COPYRIGHT = "© 2026 CrashLab"
