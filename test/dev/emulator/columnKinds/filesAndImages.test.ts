/** Image columns (base64 in the body), file columns (block messages, max size, $value, delete), overriddencreatedon. */
import { z } from 'zod';
import { harness, idFromEntityId } from '../records/harness';

/** DownloadBlockResponse: the block's bytes in base64. */
const downloadBlock = z.object({ Data: z.string() });

const b64 = (bytes: number, fill = 7) => Buffer.alloc(bytes, fill).toString('base64');

describe('image columns', () => {
  it('takes base64 on create and update and reads it back', async () => {
    const { call } = harness();
    const first = b64(300);
    const id = idFromEntityId(await call('POST', 'new_documents', { body: { new_name: 'D', new_thumbnail: first } }));
    expect((await call('GET', `new_documents(${id})?$select=new_thumbnail`)).json.new_thumbnail).toBe(first);
    const second = b64(200, 9);
    expect((await call('PATCH', `new_documents(${id})`, { body: { new_thumbnail: second } })).status).toBe(204);
    expect((await call('GET', `new_documents(${id})?$select=new_thumbnail`)).json.new_thumbnail).toBe(second);
    const value = await call('GET', `new_documents(${id})/new_thumbnail/$value`);
    expect(Buffer.isBuffer(value.body) && value.body.equals(Buffer.alloc(200, 9))).toBe(true);
  });

  it('refuses an image over MaxSizeInKB and text that is not base64', async () => {
    const { call } = harness();
    const big = await call('POST', 'new_documents', { body: { new_name: 'D', new_thumbnail: b64(1025) } });
    expect(big.status).toBe(400);
    expect(big.json.error).toEqual({ code: '0x80044a02', message: 'Attachment file size is too big.' });
    const bad = await call('POST', 'new_documents', { body: { new_name: 'D', new_thumbnail: 'not base64!' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("to the expected type 'Edm.Binary'");
  });

  it('describes the columns with their MaxSizeInKB', async () => {
    const { call } = harness();
    const image = await call(
      'GET',
      "EntityDefinitions(LogicalName='new_document')/Attributes(LogicalName='new_thumbnail')",
    );
    expect(image.json).toMatchObject({
      AttributeType: 'Virtual',
      AttributeTypeName: { Value: 'ImageType' },
      MaxSizeInKB: 1,
    });
    const file = await call('GET', "EntityDefinitions(LogicalName='new_document')/Attributes(LogicalName='new_file')");
    expect(file.json).toMatchObject({ AttributeTypeName: { Value: 'FileType' }, MaxSizeInKB: 1 });
  });
});

describe('file columns', () => {
  async function upload(call: ReturnType<typeof harness>['call'], id: string, blocks: Buffer[], fileName = 'a.txt') {
    const init = await call('POST', 'InitializeFileBlocksUpload', {
      body: {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.new_document', new_documentid: id },
        FileName: fileName,
        FileAttributeName: 'new_file',
      },
    });
    expect(init.status).toBe(200);
    const token = init.json.FileContinuationToken as string;
    const ids = blocks.map((_, i) => Buffer.from(`block-${String(i).padStart(4, '0')}`).toString('base64'));
    // Sent out of order: the BlockList order decides the file.
    for (const i of [...blocks.keys()].reverse()) {
      const res = await call('POST', 'UploadBlock', {
        body: { BlockId: ids[i], BlockData: blocks[i]!.toString('base64'), FileContinuationToken: token },
      });
      expect(res.status).toBe(204);
    }
    return call('POST', 'CommitFileBlocksUpload', {
      body: { FileName: fileName, MimeType: 'text/plain', BlockList: ids, FileContinuationToken: token },
    });
  }

  it('uploads in blocks, sets the column to the file id and its _name, downloads by blocks and $value', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'new_documents', { body: { new_name: 'D' } }));
    const blocks = [Buffer.from('hello '), Buffer.from('file '), Buffer.from('world')];
    const commit = await upload(call, id, blocks);
    expect(commit.status).toBe(200);
    expect(commit.json.FileSizeInBytes).toBe(16);
    const row = (await call('GET', `new_documents(${id})?$select=new_file,new_file_name`)).json;
    expect(row).toMatchObject({ new_file: commit.json.FileId, new_file_name: 'a.txt' });
    const init = await call('POST', 'InitializeFileBlocksDownload', {
      body: {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.new_document', new_documentid: id },
        FileAttributeName: 'new_file',
      },
    });
    expect(init.json).toMatchObject({ FileSizeInBytes: 16, FileName: 'a.txt', IsChunkingSupported: true });
    const block = await call('POST', 'DownloadBlock', {
      body: { Offset: 6, BlockLength: 4, FileContinuationToken: init.json.FileContinuationToken },
    });
    expect(Buffer.from(downloadBlock.parse(block.json).Data, 'base64').toString()).toBe('file');
    const whole = await call('GET', `new_documents(${id})/new_file/$value`);
    expect(whole.status).toBe(200);
    expect(whole.headers).toMatchObject({ 'x-ms-file-size': '16', 'x-ms-file-name': 'a.txt', mimetype: 'text/plain' });
    expect((whole.body as Buffer).toString()).toBe('hello file world');
    const range = await call('GET', `new_documents(${id})/new_file/$value`, { headers: { Range: 'bytes=0-4' } });
    expect(range.status).toBe(206);
    expect((range.body as Buffer).toString()).toBe('hello');
  });

  it('refuses a file over the column MaxSizeInKB at commit, leaving the column empty', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'new_documents', { body: { new_name: 'D' } }));
    const res = await upload(call, id, [Buffer.alloc(600), Buffer.alloc(600)]);
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({ code: '0x80044a02', message: 'Attachment file size is too big.' });
    expect((await call('GET', `new_documents(${id})`)).json.new_file).toBeNull();
  });

  it('refuses file data in a create body, an unknown token, a missing record and a column that is no file', async () => {
    const { call } = harness();
    const inBody = await call('POST', 'new_documents', { body: { new_name: 'D', new_file: b64(3) } });
    expect(inBody.status).toBe(400);
    const token = await call('POST', 'UploadBlock', {
      body: { BlockId: 'QUJD', BlockData: 'QUJD', FileContinuationToken: 'nope' },
    });
    expect(token.json.error.message).toBe('The FileContinuationToken is not valid.');
    const target = (id: string, column: string) => ({
      body: {
        Target: { '@odata.type': 'Microsoft.Dynamics.CRM.new_document', new_documentid: id },
        FileName: 'x',
        FileAttributeName: column,
      },
    });
    const missing = await call(
      'POST',
      'InitializeFileBlocksUpload',
      target('00000000-0000-0000-0000-00000000dead', 'new_file'),
    );
    expect(missing.status).toBe(404);
    const id = idFromEntityId(await call('POST', 'new_documents', { body: { new_name: 'D' } }));
    expect((await call('POST', 'InitializeFileBlocksUpload', target(id, 'new_name'))).status).toBe(400);
    expect((await call('GET', `new_documents(${id})/new_file/$value`)).status).toBe(404);
  });

  it('deletes a file by DeleteFile or by DELETE on the column', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'new_documents', { body: { new_name: 'D' } }));
    const first = await upload(call, id, [Buffer.from('x')]);
    expect((await call('POST', 'DeleteFile', { body: { FileId: first.json.FileId } })).status).toBe(204);
    expect((await call('GET', `new_documents(${id})`)).json).toMatchObject({ new_file: null, new_file_name: null });
    await upload(call, id, [Buffer.from('y')]);
    expect((await call('DELETE', `new_documents(${id})/new_file`)).status).toBe(204);
    expect((await call('GET', `new_documents(${id})/new_file/$value`)).status).toBe(404);
  });
});

describe('overriddencreatedon', () => {
  it('sets createdon on create; it is not valid for update', async () => {
    const { call } = harness();
    const id = idFromEntityId(
      await call('POST', 'accounts', { body: { name: 'A', overriddencreatedon: '2015-03-01' } }),
    );
    const row = (await call('GET', `accounts(${id})?$select=createdon,overriddencreatedon`)).json;
    expect(row).toMatchObject({ createdon: '2015-03-01T00:00:00Z', overriddencreatedon: '2015-03-01' });
    await call('PATCH', `accounts(${id})`, { body: { overriddencreatedon: '2016-01-01' } });
    expect((await call('GET', `accounts(${id})?$select=createdon`)).json.createdon).toBe('2015-03-01T00:00:00Z');
  });
});
