-- A sequence of its own, so the ceiling runs never touch teamreg's 'team' sequence.
INSERT INTO id_sequences (name, prefix, min_width, last_number) VALUES ('bench', 'BENCH', 3, 0)
ON CONFLICT (name) DO NOTHING;
