/** MultiSelectPicklist: comma-separated values in a string, each an option; metadata and formatted values. */
import { z } from 'zod';
import { harness, idFromEntityId } from '../records/harness';

/** An attribute expanded with its OptionSet (MultiSelectPicklistAttributeMetadata). */
const optionSetAttribute = z.object({ OptionSet: z.object({ Options: z.array(z.record(z.string(), z.unknown())) }) });

it('describes the column as MultiSelectPicklistAttributeMetadata (AttributeType Virtual) with its options', async () => {
  const { call } = harness();
  const res = await call(
    'GET',
    "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata?$select=LogicalName,AttributeType,AttributeTypeName&$expand=OptionSet($select=Options)",
  );
  expect(res.json.value).toHaveLength(1);
  expect(res.json.value[0]).toMatchObject({
    LogicalName: 'sample_outdooractivities',
    AttributeType: 'Virtual',
    AttributeTypeName: { Value: 'MultiSelectPicklistType' },
  });
  expect(optionSetAttribute.parse(res.json.value[0]).OptionSet.Options[8]).toMatchObject({
    Value: 9,
    Label: { UserLocalizedLabel: { Label: 'Camping' } },
  });
});

it('stores "1, 9" as "1,9" and formats it as "Swimming; Camping"', async () => {
  const { call } = harness();
  const id = idFromEntityId(
    await call('POST', 'contacts', { body: { lastname: 'Y', sample_outdooractivities: '1, 9' } }),
  );
  const res = await call('GET', `contacts(${id})?$select=sample_outdooractivities`, {
    headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' },
  });
  expect(res.json).toMatchObject({
    sample_outdooractivities: '1,9',
    'sample_outdooractivities@OData.Community.Display.V1.FormattedValue': 'Swimming; Camping',
  });
  expect((await call('PATCH', `contacts(${id})`, { body: { sample_outdooractivities: null } })).status).toBe(204);
  expect((await call('GET', `contacts(${id})`)).json.sample_outdooractivities).toBeNull();
});

it('refuses a value that is not an option, a label, or a JSON array', async () => {
  const { call } = harness();
  const unknown = await call('POST', 'contacts', { body: { lastname: 'Y', sample_outdooractivities: '1,42' } });
  expect(unknown.status).toBe(400);
  expect(unknown.json.error).toEqual({
    code: '0x8004431A',
    message:
      "A validation error occurred. The value 42 of 'sample_outdooractivities' on record of type 'contact' is outside the valid range.",
  });
  const label = await call('POST', 'contacts', { body: { lastname: 'Y', sample_outdooractivities: 'Hiking' } });
  expect(label.status).toBe(400);
  expect(label.json.error.message).toContain("Cannot convert the literal 'Hiking' to the expected type 'Edm.String'");
  const array = await call('POST', 'contacts', { body: { lastname: 'Y', sample_outdooractivities: [1, 9] } });
  expect(array.status).toBe(400);
});
