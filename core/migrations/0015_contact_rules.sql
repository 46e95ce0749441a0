-- A customer's phone and email: one rule per field, in core/contact.py, which the forms and the
-- loader both run. The CHECK constraints hold the stored forms and name that module.
--
-- The email CHECK of 0001 wrote whitespace as \s, which PostgreSQL, Python and Arrow read
-- differently (PostgreSQL let a no-break space through; the forms did not): it is replaced by
-- contact.EMAIL_PATTERN, whitespace spelt out. NOT VALID: rows stored before keep the check
-- they passed; every row written from now on meets this one.
ALTER TABLE customers DROP CONSTRAINT customers_email_check;
ALTER TABLE customers ADD CONSTRAINT customers_email_check CHECK (email IS NULL OR email ~
    E'^[^@ \t\n\r\f\x0b\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@ \t\n\r\f\x0b\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+[.][^@ \t\n\r\f\x0b\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$')
    NOT VALID;
COMMENT ON CONSTRAINT customers_email_check ON customers IS
    'An email as core/contact.py stores it: contact.EMAIL_PATTERN (the forms and the loader run the same rule).';
COMMENT ON CONSTRAINT customers_telefone_check ON customers IS
    'A phone as core/contact.py stores it: the national digits, contact.STORED_PHONE_PATTERN (the forms and the loader read +55, spaces, brackets and dashes alike).';
