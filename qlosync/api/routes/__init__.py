"""The admin API's routes: one small module per operator concern, each a thin face over ``qlosync.ops``."""
