-- The dashboard language a user chose in the account box (NULL: the LANGUAGE setting).
ALTER TABLE users ADD COLUMN language text CHECK (language IN ('pt_BR', 'en'));
