"""The built-in PMS: qlosync's reference PMS schema (``tables``), e-mail matching over its guests
(``guest_email``) and a reservation API for hosts and tests (``reservations``)."""
