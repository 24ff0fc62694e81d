# Rules of the sts stage.
