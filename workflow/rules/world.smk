# Rules of the world stage.
