-- Text limits: core/text.py's rule (LIMITS, in characters, on the stored value) held by the
-- database too, so no way in can store a longer name, email, angel or polo. The forms, the API's
-- schemas and the loader (a line with a longer value is rejected with its reason) run the same
-- rule first; these catch anything that would not. The same rule refuses control characters;
-- PostgreSQL itself cannot store a NUL.
-- NOT VALID: no scan of the tables now (rows stored before were at most a few dozen characters);
-- every row written from now on meets them.
ALTER TABLE customers ADD CONSTRAINT customers_text_length
    CHECK (char_length(nome) <= 200 AND char_length(email) <= 254) NOT VALID;
ALTER TABLE services ADD CONSTRAINT services_text_length
    CHECK (char_length(angel) <= 200 AND char_length(polo) <= 200) NOT VALID;
COMMENT ON CONSTRAINT customers_text_length ON customers IS
    'core/text.py LIMITS: nome 200, email 254 characters (the forms, the API and the loader run the same rule).';
COMMENT ON CONSTRAINT services_text_length ON services IS
    'core/text.py LIMITS: angel and polo 200 characters (the forms, the API and the loader run the same rule).';
