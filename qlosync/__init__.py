"""qlosync: keeps a hotel PMS and its QloApps booking website in sync, both ways."""

__version__ = "0.1.0"
