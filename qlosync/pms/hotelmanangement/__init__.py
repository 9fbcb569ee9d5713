"""The Hotel Management System (``hananshaban/hotelmanangement``) as a PMS qlosync drives (issue 21).

Not an adapter yet: :mod:`.schema` states what the future adapter needs of that PMS's database and checks a
database against it (``qlosync pms check --pms hotelmanangement``).
"""
