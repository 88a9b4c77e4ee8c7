"""The six tabs of the main window: Portfolio, Shock, Replay, Crash matrix, Monte Carlo, Reverse stress.

Each view arranges its controls and charts and draws the results it is given; runs go
through :class:`ui.controller.Controller`."""
