import type { ReactNode } from 'react';

/**
 * A labelled form field with its hint and errors. The control gets `id`,
 * and `aria-describedby`/`aria-invalid` from `controlProps(...)`, so a
 * screen reader reads the hint and the error with the field.
 */
export function fieldIds(id: string) {
  return { hint: `${id}-hint`, error: `${id}-error` };
}

export function controlProps(id: string, hint: boolean, errors: readonly string[] | undefined) {
  const ids = fieldIds(id);
  const describedBy = [hint ? ids.hint : null, errors?.length ? ids.error : null]
    .filter(Boolean)
    .join(' ');
  return {
    id,
    'aria-invalid': errors?.length ? (true as const) : undefined,
    'aria-describedby': describedBy || undefined,
  };
}

export function Field({
  id,
  label,
  hint,
  errors,
  children,
  optional,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  children: ReactNode;
  optional?: boolean;
}) {
  return (
    <div className={errors?.length ? 'field field--invalid' : 'field'}>
      <label className="field__label" htmlFor={id}>
        {label}
        {optional ? <span className="field__optional"> (optional)</span> : null}
      </label>
      <FieldNotes id={id} hint={hint} errors={errors} />
      {children}
    </div>
  );
}

/** A field's hint and its errors, under the IDs its control is described by. */
function FieldNotes({
  id,
  hint,
  errors,
}: {
  id: string;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
}) {
  const ids = fieldIds(id);
  return (
    <>
      {hint ? (
        <p className="field__hint" id={ids.hint}>
          {hint}
        </p>
      ) : null}
      {errors?.length ? (
        <ul className="field__errors" id={ids.error}>
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** A checkbox with its label after it; hint and errors as for Field. */
export function CheckboxField({
  id,
  label,
  hint,
  errors,
  checked,
  onChange,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <div className={errors?.length ? 'field field--check field--invalid' : 'field field--check'}>
      <input
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        {...controlProps(id, Boolean(hint), errors)}
      />
      <div>
        <label className="field__label" htmlFor={id}>
          {label}
        </label>
        <FieldNotes id={id} hint={hint} errors={errors} />
      </div>
    </div>
  );
}
