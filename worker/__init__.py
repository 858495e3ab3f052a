"""newswatch: poll news feeds, keep the items about Turkey–Syria relations, mail a daily digest."""

__version__ = "0.1.0"
